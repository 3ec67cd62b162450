// Never returns: the engine must stop it at the time limit (and once more at five times it).
function decodeUplink(input) {
  for (;;) {}
}
