// Stuck on its first call only (a counter kept in the context between calls): the retry at five
// times the limit, in the same context, then answers.
var calls = 0;
function decodeUplink(input) {
  calls += 1;
  if (calls === 1) {
    for (;;) {}
  }
  return { data: { calls: calls, event: input.bytes[0] === 1 ? "SOS" : "OTHER" } };
}
