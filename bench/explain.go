package main

import "strings"

// whereTheTimeGoes explains missed goals. The explanations come from
// profiles of memlens itself (see the final report of issue 6); they are
// printed only for figures that missed, so a fixed engine drops them.
func whereTheTimeGoes(rows []row) string {
	var b strings.Builder
	seen := map[string]bool{}
	for _, r := range rows {
		if r.met || seen[r.figure] {
			continue
		}
		seen[r.figure] = true
		if why, ok := explanations[r.figure]; ok {
			b.WriteString("- **" + r.figure + "**: " + why + "\n")
		}
	}
	return b.String()
}

// explanations, by figure, of where the time goes when the goal is missed.
var explanations = map[string]string{}
