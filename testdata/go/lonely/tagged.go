//go:build memlenstag

package lonely

// Tagged exists only in builds with -tags=memlenstag.
func Tagged() []byte {
	buf := make([]byte, 0, 4)
	for i := 0; i < 3; i++ {
		buf = append(buf, "tag"...)
	}
	return buf
}
