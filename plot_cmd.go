package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/memlens/memlens/chart"
	"github.com/memlens/memlens/profile"
)

// plotCommand implements `memlens plot RESULT.json -o FILE`: the timeline
// chart of a result saved with `memlens profile --json`, redrawn.
func plotCommand(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("memlens plot", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "write the chart to `FILE` (.svg or .png)")
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: memlens plot RESULT.json -o FILE

Draws the timeline of a result saved with memlens profile --json: RSS and
heap against time, each call of a profiled function shaded, the peak marked
with the line running then. The format follows FILE's extension (.svg, .png).

Flags:
`)
		fs.PrintDefaults()
	}
	// The result may come before or after -o.
	positional, exit, ok := parseInterspersed(fs, args)
	if !ok {
		return exit
	}
	if len(positional) != 1 || *out == "" {
		fs.Usage()
		return 2
	}
	res, err := readResult(positional[0])
	if err != nil {
		fmt.Fprintf(stderr, "memlens plot: %v\n", err)
		return 1
	}
	if err := chart.Save(*out, res); err != nil {
		fmt.Fprintf(stderr, "memlens plot: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "memlens: wrote %s\n", *out)
	return 0
}

// readResult reads a `memlens profile --json` result.
func readResult(path string) (*profile.Result, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var res profile.Result
	if err := json.Unmarshal(b, &res); err != nil {
		return nil, fmt.Errorf("%s is not a memlens profile --json result: %v", path, err)
	}
	return &res, nil
}
