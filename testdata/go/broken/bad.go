package broken

func Bad() int {
	return 1 +
}
