@0x873517c165a9e0ae;
# One column block of an atb year file (docs/FORMAT.md). On disk each block is this
# message in Cap'n Proto's flat-array encoding (segment table + segments), compressed
# with zstd as one frame. The directory entry in the file header says which field and
# transform it holds; the block repeats what a decoder needs to check that it agrees.

struct ColumnBlock {
  field @0 :UInt8;       # atb::field index (0..10)
  transform @1 :UInt8;   # transform id (docs/FORMAT.md, "Transforms")
  rows @2 :UInt32;       # number of values; equals the header's row count
  width @3 :UInt8;       # bytes per value in payload (0..8); payload has rows*width bytes
  payload @4 :Data;      # byte planes: plane b holds byte b (little-endian) of every residual
}
