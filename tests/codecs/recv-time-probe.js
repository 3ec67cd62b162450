// Says what recvTime it was given: decoders/ reads no clock, so a caller without a time
// passes none and the codec sees undefined (as a Sigfox frame's fPort).
function decodeUplink(input) {
  return {
    data: {
      recvTime: input.recvTime === undefined ? "undefined" : input.recvTime.toISOString(),
    },
  };
}
