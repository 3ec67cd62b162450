// Its top-level code never finishes: loading it must fail within a bounded time.
var ready = false;
while (!ready) {}
function decodeUplink(input) { return { data: {} }; }
