// An async function: it answers a Promise (not an object with data) and its remainder runs later.
async function decodeUplink(input) {
  await null;
  return { data: { event: "SOS" } };
}
