// Answers at once, but leaves a promise job that never ends: it runs after the call returned.
function decodeUplink(input) {
  Promise.resolve().then(function () { for (;;) {} });
  return { data: { event: "SOS" } };
}
