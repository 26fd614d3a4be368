package dataplane

import (
	"reflect"
	"testing"
)

// The framing scan sees a connection's bytes in whatever pieces the socket
// returns; its verdicts must not depend on where the pieces are cut.
func FuzzFramingScanIgnoresReadBoundaries(f *testing.F) {
	f.Add([]byte("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), uint8(3))
	f.Add([]byte("POST /a HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloPOST /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n0\r\nT: v\r\n\r\n"), uint8(1))
	f.Add([]byte("GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\nokPRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), uint8(7))
	f.Fuzz(func(t *testing.T, stream []byte, cut uint8) {
		var whole, pieces framing
		whole.scan(stream)
		step := int(cut)%16 + 1
		for i := 0; i < len(stream); i += step {
			pieces.scan(stream[i:min(i+step, len(stream))])
		}
		if whole.phase != pieces.phase || !reflect.DeepEqual(whole.chunked, pieces.chunked) {
			t.Errorf("in one read: %v %+v; in pieces of %d: %v %+v", whole.phase, whole.chunked, step, pieces.phase, pieces.chunked)
		}
	})
}

func TestFramingScanNotesChunkedHeads(t *testing.T) {
	var f framing
	f.scan([]byte("POST /a HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc" +
		"POST /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n" +
		"POST /c HTTP/1.1\r\ncontent-length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"))
	want := []requestHead{
		{requestLine: "POST /b HTTP/1.1", isChunk: true},
		{requestLine: "POST /c HTTP/1.1", isChunk: true, withLength: true, contentLength: 5},
	}
	if f.phase != inHead || !reflect.DeepEqual(f.chunked, want) {
		t.Errorf("phase %v, chunked heads %+v; want %v, %+v", f.phase, f.chunked, inHead, want)
	}
}

func TestFramingFieldNamesIgnoreASCIICaseOnly(t *testing.T) {
	var f framing
	f.scan([]byte("POST /a HTTP/1.1\r\nCONTENT-LENGTH: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" +
		// U+0130 lower-cases to i in Unicode; it is no i of a field name.
		"GET /b HTTP/1.1\r\nTransfer-Encod\u0130ng: chunked\r\n\r\n" +
		"POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"))
	want := []requestHead{
		{requestLine: "POST /a HTTP/1.1", isChunk: true, withLength: true, contentLength: 5},
		{requestLine: "POST /c HTTP/1.1", isChunk: true},
	}
	if f.phase != inHead || !reflect.DeepEqual(f.chunked, want) {
		t.Errorf("phase %v, chunked heads %+v; want %v, %+v", f.phase, f.chunked, inHead, want)
	}
}

func TestFramingScanOfARequestAllocatesOnlyItsRequestLine(t *testing.T) {
	head := []byte("GET /bench/items?page=1 HTTP/1.1\r\nHost: bench.example.com\r\nUser-Agent: bench\r\nAccept: */*\r\nX-Forwarded-For: 10.0.0.1\r\n\r\n")
	var f framing
	f.scan(head) // the line buffer grows once
	if n := testing.AllocsPerRun(100, func() { f.scan(head) }); n > 1 {
		t.Errorf("scanning a request head allocated %.0f times, want 1 (its request line)", n)
	}
}
