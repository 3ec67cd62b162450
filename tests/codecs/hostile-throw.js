// Throws: an Error for byte 0 = 1, a stack overflow for 2, a bare string otherwise.
function deeper(n) { return deeper(n + 1) + 1; }

function decodeUplink(input) {
  if (input.bytes[0] === 1) {
    throw new RangeError("battery byte out of range");
  }
  if (input.bytes[0] === 2) {
    return { data: { depth: deeper(0) } };
  }
  throw "not an Error object";
}
