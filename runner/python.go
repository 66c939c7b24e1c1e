package runner

import (
	"context"
	"errors"

	"github.com/memlens/memlens/profile"
)

// profilePython is being written (issue 3); this placeholder keeps the tree building.
func profilePython(ctx context.Context, req Request) (*profile.Result, error) {
	return nil, errors.New("python profiling: not yet implemented")
}
