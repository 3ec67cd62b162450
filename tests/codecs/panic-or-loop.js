// panic-ttn.js's frame, except byte 0 = 0xFF loops for ever and 0xFE allocates without end: a
// good frame after either must decode in the context built after the kill.
var EVENTS = { 1: "SOS", 2: "CANCEL", 3: "HEARTBEAT" };

function decodeUplink(input) {
  var b = input.bytes;
  if (b[0] === 0xff) {
    for (;;) {}
  }
  if (b[0] === 0xfe) {
    var hoard = [];
    for (;;) { hoard.push(new Array(65536).fill(1.5)); }
  }
  return { data: { event: EVENTS[b[0]] || "UNKNOWN", battery: b[1] } };
}
