package extract

import (
	"encoding/binary"
	"hash/crc32"
)

// encodeEventStreamMessage builds one event-stream message with string headers (the gateway
// never writes this framing; tests do).
func encodeEventStreamMessage(headers [][2]string, payload []byte) []byte {
	var hb []byte
	for _, h := range headers {
		hb = append(hb, byte(len(h[0])))
		hb = append(hb, h[0]...)
		hb = append(hb, 7)
		hb = binary.BigEndian.AppendUint16(hb, uint16(len(h[1])))
		hb = append(hb, h[1]...)
	}
	total := esPrelude + len(hb) + len(payload) + 4
	m := make([]byte, 0, total)
	m = binary.BigEndian.AppendUint32(m, uint32(total))
	m = binary.BigEndian.AppendUint32(m, uint32(len(hb)))
	m = binary.BigEndian.AppendUint32(m, crc32.ChecksumIEEE(m[:8]))
	m = append(m, hb...)
	m = append(m, payload...)
	return binary.BigEndian.AppendUint32(m, crc32.ChecksumIEEE(m))
}
