/// The protocol-buffer wire format, for the few messages the ONNX exporter writes.
///
/// A message is a sequence of fields, each a key `(number << 3) | wire type` as a varint,
/// then the value: a varint (type 0), or a length-delimited byte string (type 2) holding a
/// string, raw bytes or a nested message. Fixed32 (type 5) carries float attributes.
/// Repeated fields are written one entry per key, which every parser accepts.
struct ProtobufMessage {
    private(set) var bytes: [UInt8] = []

    private mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    private mutating func key(_ field: Int, _ wireType: UInt64) { varint(UInt64(field) << 3 | wireType) }

    /// int32/int64/enum: negative values as their two's-complement 64-bit pattern, as protobuf does.
    mutating func int(_ field: Int, _ value: Int) {
        key(field, 0)
        varint(UInt64(bitPattern: Int64(value)))
    }

    mutating func float(_ field: Int, _ value: Float) {
        key(field, 5)
        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func data(_ field: Int, _ value: [UInt8]) {
        key(field, 2)
        varint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    mutating func string(_ field: Int, _ value: String) { data(field, Array(value.utf8)) }

    mutating func message(_ field: Int, _ value: ProtobufMessage) { data(field, value.bytes) }
}
