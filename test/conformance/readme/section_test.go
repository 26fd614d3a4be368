//go:build conformance

package readme_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// sectionTitle is the README section the test runs.
const sectionTitle = "## Install on a cluster"

// block is one fenced block of the section: shell commands to run, or a
// YAML file to write (its first line is "# FILENAME").
type block struct {
	lang     string   // "sh" or "yaml"
	commands []string // sh: one per command, continuation lines joined
	file     string   // yaml: the file name its first line gives
	text     string   // yaml: the content
}

// installSection reads the section's sh and yaml blocks from README.md, in
// order. Blocks of any other language (sample output) are prose.
func installSection(repoRoot string) ([]block, error) {
	b, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		return nil, err
	}
	lines := strings.Split(string(b), "\n")
	start := -1
	for i, l := range lines {
		if l == sectionTitle {
			start = i + 1
		} else if start >= 0 && strings.HasPrefix(l, "## ") {
			lines = lines[:i]
			break
		}
	}
	if start < 0 {
		return nil, fmt.Errorf("README.md has no %q section", sectionTitle)
	}
	return fencedBlocks(lines[start:])
}

// fencedBlocks splits lines into their fenced blocks, each line without
// the fence's indentation (the blocks sit in a numbered list).
func fencedBlocks(lines []string) ([]block, error) {
	var out []block
	for i := 0; i < len(lines); i++ {
		indent, lang, ok := strings.Cut(lines[i], "```")
		if !ok || strings.TrimSpace(indent) != "" {
			continue
		}
		var body []string
		for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "```"; i++ {
			body = append(body, strings.TrimPrefix(lines[i], indent))
		}
		if i == len(lines) {
			return nil, fmt.Errorf("a %q block is not closed", lang)
		}
		b, err := newBlock(lang, body)
		if err != nil {
			return nil, err
		}
		if b.lang != "" {
			out = append(out, b)
		}
	}
	return out, nil
}

func newBlock(lang string, body []string) (block, error) {
	switch lang {
	case "sh":
		return block{lang: lang, commands: shellCommands(body)}, nil
	case "yaml":
		name, ok := strings.CutPrefix(body[0], "# ")
		if !ok || strings.ContainsAny(name, " /") {
			return block{}, fmt.Errorf("a yaml block must start with \"# FILENAME\", not %q", body[0])
		}
		return block{lang: lang, file: name, text: strings.Join(body, "\n") + "\n"}, nil
	}
	return block{}, nil
}

// shellCommands are the commands of an sh block: a line ending in "\"
// continues on the next; blank and comment lines are not commands.
func shellCommands(body []string) []string {
	var out []string
	cur := ""
	for _, l := range body {
		if s, ok := strings.CutSuffix(l, `\`); ok {
			cur += s + " "
			continue
		}
		cur += l
		if t := strings.TrimSpace(cur); t != "" && !strings.HasPrefix(t, "#") {
			out = append(out, t)
		}
		cur = ""
	}
	return out
}
