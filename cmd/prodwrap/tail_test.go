package main

import (
	"bytes"
	"testing"
)

// The window keeps the last bytes of a stream, whatever the sizes of the
// writes, and gives any part of them back by offset.
func TestTailWindow(t *testing.T) {
	var stream []byte
	for i := range 1000 {
		stream = append(stream, byte(i), byte(i>>8))
	}
	for _, chunk := range []int{1, 7, 64, 100, 3000} {
		w := &tailWindow{max: 100}
		for i := 0; i < len(stream); i += chunk {
			w.Write(stream[i:min(i+chunk, len(stream))])
		}
		end := int64(len(stream))
		for _, tt := range []struct {
			off  int64
			n    int
			want []byte
		}{
			{end - 100, 100, stream[end-100:]},
			{end - 50, 10, stream[end-50 : end-40]},
			{end - 30, 100, stream[end-30:]},
			{end - 101, 10, nil}, // no longer in the window
			{end, 10, nil},       // not yet
		} {
			if got := w.from(tt.off, tt.n); !bytes.Equal(got, tt.want) {
				t.Errorf("writes of %d: from(%d, %d) = %v, want %v", chunk, tt.off, tt.n, got, tt.want)
			}
		}
	}
}
