// Package server is memlens's language server: it shows line-by-line memory
// profiles of Go and Python functions in the editor.
//
// What the editor gets:
//   - a "Profile memory" code lens above every Go function and method
//     (tests and benchmarks included) and every Python def, and the same
//     action as a code action on the function under the cursor;
//   - while a profile runs, $/progress (building, running with the elapsed
//     time, done or failed), cancellable from the editor;
//   - afterwards an inlay hint at the end of every line that ran
//     ("alloc 4.0 KiB  ▲ 41%  ×106"), a summary lens ("memory: peak … ·
//     allocated … · 3 calls · 0.4 s") with Timeline (the run's RSS as a
//     sparkline, "Timeline ▁▂▅█▃"; only when the run was sampled),
//     Re-profile and Clear beside it, and a hover with every figure of the
//     line, why its values are on the heap (Go: the compiler's escape
//     analysis, see why.go), its share of the function's time and when it
//     ran;
//   - failures as window/showMessage and, where they have a position
//     (build errors, the panic site), error diagnostics, which move with
//     the lines of their file, go when their line is edited, and are
//     withdrawn by Clear or replaced by the next run of the function.
//
// # Commands (workspace/executeCommand)
//
//	memlens.profile          {"uri": URI, "function": NAME}
//	memlens.reprofile        {"uri": URI, "function": NAME}
//	memlens.profileAtCursor  {"uri": URI, "position": {"line": L, "character": C}}
//	memlens.clear            {"uri": URI, "function": NAME}, {"uri": URI}, or nothing (all)
//	memlens.showProfile      {"uri": URI, "function": NAME}: the summary as a message
//	                         (the command of the summary lens, so that a click on
//	                         it does something sensible)
//	memlens.timeline         {"uri": URI, "function": NAME}, {"run": ID},
//	                         {"uri": URI, "position": P} (the profiled function
//	                         there, else the file's latest run), {"uri": URI}
//	                         (the file's latest run) or nothing (the latest run):
//	                         returns the run's memory over time, for the client
//	                         to draw (the command of the Timeline lens, whose
//	                         argument is {"uri", "function", "run"}: the run
//	                         it summarizes, so that a client showing that
//	                         function's timeline sees when a newer run
//	                         replaced it)
//
// NAME is the runner's function name: Build, Grid.Add, (*Grid).Add,
// baseExtr.parseList, outer.<locals>.inner. The profile commands return at
// once; the profile runs in the background.
//
// memlens.timeline answers with an object (or an error saying why there is
// none: no profile, or a run that was not sampled):
//
//	{"run": 3, "uri": …, "function": "grow", "language": "python",
//	 "entry": …, "status": "ok", "duration_ms": 412, "interval_ms": 10,
//	 "samples": [{"t_ms": 0, "rss_bytes": …, "heap_bytes": …,
//	              "function": "grow", "line": 9}, …],
//	 "calls": [{"function": "grow", "start_ms": 31.5, "end_ms": 88,
//	            "calls": 1}, …],
//	 "lines": [{"line": 9, "at": 8, "content": "…", "samples": 12,
//	            "share": 0.41}, …],
//	 "stale": false}
//
// samples and calls are the run's profile.Timeline (t_ms from the start of
// the run, increasing; function and line name the profiled line running,
// the line as run), calls only the function's. lines are the function's
// lines that ran: at is where the line is in the buffer now (0-based; null
// once the line was edited), samples and share the line's TimeSamples and
// TimeShare (its part of the samples that found the function running). The
// hover shows the same share, and a sparkline of when the line ran drawn
// from the samples.
//
// # Settings
//
// Given as initializationOptions or through workspace/didChangeConfiguration,
// either under a "memlens" key or flat:
//
//	timeout      string   run time limit, build included, e.g. "30s" (default 2m)
//	env          object   extra environment of the program, {"KEY": "value"}
//	buildFlags   []string Go build flags, e.g. ["-tags=integration"]
//	entries      object   how to run a function, by "FUNC" or "relative/file.go:FUNC"
//	                      (path relative to the workspace folder):
//	                      {"test": "TestX"} | {"bench": "BenchmarkX"} (Go, with
//	                      "in": "./pkg" when the test is in another package that
//	                      several have) | {"run": "./cmd/tool", "args": [...]} (Go:
//	                      run that main package with these arguments; "args" alone:
//	                      the function's own main package; package directories are
//	                      relative to the workspace folder, import paths work too) |
//	                      {"script": "main.py", "args": [...]} (Python: the script
//	                      to run; by default the file itself when running it
//	                      reaches the function, else the tests that reach it) |
//	                      {"test": "pkg/test_x.py::test_y"} (Python: pytest node
//	                      ids, or a -k expression)
//	python       string   Python interpreter (default python3 on PATH)
//	hints        []string figures in the inlay hint, in order, from "mem",
//	                      "increment", "alloc", "objects", "retained",
//	                      "occurrences", "share" (default, or empty: per
//	                      language, what matters — Go "alloc" where the line
//	                      allocated, "increment" where it is 1 MiB or more
//	                      either way; Python "increment" where non-zero,
//	                      "alloc" where larger; then "occurrences"; and
//	                      "share", ▲ N%, on the function's heaviest lines,
//	                      at most three with 10% or more of its allocation
//	                      (Go) or growth (Python))
//	diagnostics  bool     also show the heaviest lines of each profiled function
//	                      as information diagnostics, for editors without
//	                      inlay hints (default false)
//	sampleInterval string the timeline's sampling interval, e.g. "5ms"
//	                      (default: the runner's, 10 ms); "0" or "off": no
//	                      timeline, as --sample-interval 0
//
// Go runs use the editor's buffers (unsaved edits included) through the
// build overlay; Python runs the saved files. The server never runs a
// program itself: it calls runner.Profile.
//
// # Choosing an entry
//
// Without an entries setting for it, a Go function runs through what the
// runner's search finds (the tests of its package, else of the module's
// other packages, else a main package; see the runner). Where that search
// offers several entries (the tests of several packages, a program) or
// only a program, which may never end by itself, the server asks with
// window/showMessageRequest — one action per entry ("report.TestTop",
// "app: TestA, TestB", "run cmd/tool") and Cancel — and keeps the answer
// for the function for the session: re-profiles use it without asking, the
// "Profile memory" lens says "via …" while it has no profile, and Clear of
// the function forgets it. Cancel (or a dismissed question) ends the run
// with progress "canceled: no entry chosen". A client that cannot answer
// (the request fails) gets the first of several test entries, as on the
// command line, and an error instead of a program. The summary lens adds
// "· via …" when the entry was another package's tests or a program, and
// the hover names the command that ran.
//
// # Files
//
// server.go holds the session (initialize, shutdown, refreshes); rpc.go
// hardens the JSON-RPC connection; textsync.go, folders.go and settings.go
// follow the editor's state; command.go and profile.go start and run
// profiles, progress.go reports them, results.go keeps them and tracker.go
// keeps their lines on the right lines through edits; codelens.go,
// inlayhint.go, hover.go, codeaction.go and diagnostics.go show them,
// timeline.go answers memlens.timeline and draws the sparklines;
// functions.go finds the functions (Go through instrument.FindFuncs, the
// runner's own finder).
package server
