#include "net/stack/arp_cache.hpp"

#include <algorithm>

namespace demi::net {

void arp_cache::add_static(ipv4_address ip, ethernet_address mac) {
    entries_[ip] = entry{mac, time_point::max(), true};
    ++generation_;
}

std::optional<time_point> arp_cache::valid_until(ipv4_address ip, time_point now) const noexcept {
    auto it = entries_.find(ip);
    if (it == entries_.end()) return std::nullopt;
    if (it->second.static_) return time_point::max();
    if (now >= it->second.expires_) return std::nullopt;
    return it->second.expires_;
}

std::optional<ethernet_address> arp_cache::lookup(ipv4_address ip, time_point now) const noexcept {
    auto it = entries_.find(ip);
    if (it == entries_.end()) return std::nullopt;
    // An expired entry is not used (RFC 1122 §2.3.2.1, cache timeout); it is replaced when the address
    // is resolved again.
    if (!it->second.static_ && now >= it->second.expires_) return std::nullopt;
    return it->second.mac_;
}

void arp_cache::insert(ipv4_address ip, ethernet_address mac, time_point now) {
    ++generation_; // conservative: any insert may change, refresh or evict an entry
    auto it = entries_.find(ip);
    if (it != entries_.end()) {
        if (it->second.static_) return; // static entries are never overwritten
        it->second.mac_ = mac;
        it->second.expires_ = now + cfg_.entry_ttl_;
        return;
    }
    if (entries_.size() >= cfg_.max_entries_) {
        // Full: first forget the expired entries; if none, the learned entry closest to expiry.
        std::erase_if(entries_, [now](const auto &kv) { return !kv.second.static_ && now >= kv.second.expires_; });
        if (entries_.size() >= cfg_.max_entries_) {
            auto victim = entries_.end();
            for (auto e = entries_.begin(); e != entries_.end(); ++e) {
                if (e->second.static_) continue;
                if (victim == entries_.end() || e->second.expires_ < victim->second.expires_) victim = e;
            }
            if (victim == entries_.end()) return; // only static entries: nothing learned is kept
            entries_.erase(victim);
        }
    }
    entries_.emplace(ip, entry{mac, now + cfg_.entry_ttl_, false});
}

bool arp_cache::learn(ipv4_address ip, ethernet_address mac, time_point now, bool create,
                      std::deque<buffer> &released) {
    auto p = pending_.find(ip);
    const bool merge = entries_.contains(ip) || p != pending_.end();
    if (merge || create) insert(ip, mac, now);
    if (p != pending_.end()) {
        for (auto &b : p->second.packets_) released.push_back(std::move(b));
        pending_.erase(p);
    }
    return merge;
}

arp_cache::enqueue_status arp_cache::enqueue(ipv4_address ip, buffer packet, time_point now) {
    auto p = pending_.find(ip);
    if (p == pending_.end()) {
        if (pending_.size() >= cfg_.max_pending_addresses_ || cfg_.max_pending_per_address_ == 0)
            return enqueue_status::too_many_pending;
        pending &n = pending_[ip];
        n.packets_.push_back(std::move(packet));
        n.requests_sent_ = 1;
        n.next_deadline_ = now + cfg_.retry_interval_;
        return enqueue_status::queued_request_now;
    }
    auto &q = p->second.packets_;
    const bool full = q.size() >= cfg_.max_pending_per_address_;
    if (full) q.pop_front();
    q.push_back(std::move(packet));
    return full ? enqueue_status::queued_dropped_oldest : enqueue_status::queued;
}

void arp_cache::poll(time_point now, poll_result &out) {
    for (auto it = pending_.begin(); it != pending_.end();) {
        pending &p = it->second;
        if (now < p.next_deadline_) {
            ++it;
            continue;
        }
        // The first request plus request_retries_ retransmissions, one retry_interval_ apart; the
        // address is given up on one interval after the last (RFC 1122 §2.3.2.1 bounds the rate).
        if (p.requests_sent_ <= cfg_.request_retries_) {
            ++p.requests_sent_;
            p.next_deadline_ = now + cfg_.retry_interval_;
            out.requests_.push_back(it->first);
            ++it;
        } else {
            out.failed_.emplace_back(it->first, p.packets_.size());
            it = pending_.erase(it);
        }
    }
}

std::optional<time_point> arp_cache::poll_at() const noexcept {
    std::optional<time_point> t;
    for (const auto &[ip, p] : pending_)
        if (!t || p.next_deadline_ < *t) t = p.next_deadline_;
    return t;
}

} // namespace demi::net
