// Uses the installed C++ API: a memory queue round trip.
#include <demi/demi.hpp>

#include <cstdio>
#include <cstring>

int main() {
    demi::options o;
    o.libos = "catnap";
    o.use_environment = false;
    auto lib = demi::libos::create(o);
    if (!lib) return std::fprintf(stderr, "create: %s\n", lib.err().message()), 1;
    auto qd = lib->queue();
    auto buf = lib->alloc(5);
    if (!qd || !buf) return 1;
    std::memcpy(buf->data(), "hello", 5);
    auto pt = lib->push(*qd, *buf);
    auto qt = lib->pop(*qd);
    if (!pt || !qt) return 1;
    auto c = lib->wait(*qt);
    if (!c || c->data.size() != 5 || std::memcmp(c->data.data(), "hello", 5) != 0) return 1;
    std::puts("consumer: ok");
    return 0;
}
