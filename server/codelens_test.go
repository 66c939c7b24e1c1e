package server

import (
	"encoding/json"
	"reflect"
	"testing"

	"go.lsp.dev/protocol"
)

// TestAppendLenses checks the hand-written encoding against the protocol
// package's: both must decode to the same lenses.
func TestAppendLenses(t *testing.T) {
	lenses := []protocol.CodeLens{
		{Range: protocol.Range{Start: protocol.Position{Line: 4}, End: protocol.Position{Line: 4, Character: 2}}, Command: protocol.Command{
			Title: "memory: peak 1.0 MiB · \"quoted\" \\ \t\x01 …", Command: cmdShowProfile,
			Arguments: commandArguments("file:///tmp/a%20b/x.go", "(*Grid).Add"),
		}},
		{Range: protocol.Range{Start: protocol.Position{Line: 70000}, End: protocol.Position{Line: 70000}}, Command: protocol.Command{Title: "Profile memory", Command: cmdProfile}},
	}
	want, err := protocol.Marshal(lenses)
	if err != nil {
		t.Fatal(err)
	}
	got := appendLenses(nil, lenses)
	var gotV, wantV any
	if err := json.Unmarshal(got, &gotV); err != nil {
		t.Fatalf("invalid JSON %s: %v", got, err)
	}
	json.Unmarshal(want, &wantV)
	if !reflect.DeepEqual(gotV, wantV) {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	var args commandArgs
	if err := json.Unmarshal(commandArguments("file:///a\"b.go", `(*G).F`)[0], &args); err != nil || args.URI != "file:///a\"b.go" || args.Function != "(*G).F" {
		t.Errorf("command arguments decode to %+v, %v", args, err)
	}
	if string(appendLenses(nil, nil)) != "[]" {
		t.Errorf("no lenses: %s", appendLenses(nil, nil))
	}
}
