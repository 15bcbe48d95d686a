//go:build cgo && zoocgo

package main

/*
static void segv(void) {
	volatile int *p = 0;
	*p = 1; // crash:cgo-segv
}
*/
import "C"

func cgoSegv([]string) {
	mark()
	C.segv()
}
