// Allocates without end: the memory limit stops it long before the machine runs out.
function decodeUplink(input) {
  var hoard = [];
  for (;;) {
    hoard.push(new Array(100000).fill(input.bytes.length + 0.5));
  }
}
