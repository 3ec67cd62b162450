function decodeUplink(input) {
  return { data: { event: "SOS" } ;
}
