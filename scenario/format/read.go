package format

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// readDocument parses data into the root node of its single YAML
// document, refusing what is not a UTF-8 YAML mapping.
func readDocument(file string, data []byte) (*yaml.Node, error) {
	if err := checkText(file, data); err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{File: file, Line: 1, Msg: "the file holds no scenario: want a mapping with name:, model:, ..."}
		}
		return nil, syntaxError(file, data, err)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		return nil, &Error{File: file, Line: next.Line, Col: next.Column, Msg: "a second YAML document: a scenario file holds one (remove the ---)"}
	case !errors.Is(err, io.EOF):
		return nil, syntaxError(file, data, err)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	d := newDecoder(file)
	r, done, err := d.deref(root)
	if err != nil {
		return nil, err
	}
	done()
	if r.Kind != yaml.MappingNode {
		return nil, d.Errorf(PosOf(r), "want a mapping with name:, model:, ... at the top of the file, got %s", Got(r))
	}
	return r, nil
}

// checkText refuses bytes the YAML reader would refuse without a line:
// invalid UTF-8 and control characters.
func checkText(file string, data []byte) error {
	line, col := 1, 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		bad := ""
		switch {
		case r == utf8.RuneError && size <= 1:
			bad = fmt.Sprintf("byte 0x%02x is not UTF-8 text", data[i])
		case r == '\t' || r == '\n' || r == '\r':
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0 && r != 0x85) || r == 0xfffe || r == 0xffff || (r >= 0xd800 && r <= 0xdfff):
			bad = fmt.Sprintf("control character %U is not allowed in YAML", r)
		case r == 0xfeff && i > 0:
			bad = "a byte-order mark (U+FEFF) inside the file"
		}
		if bad != "" {
			return &Error{File: file, Line: line, Col: col, Msg: bad}
		}
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
		i += size
	}
	return nil
}

var (
	yamlLine      = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
	unknownAnchor = regexp.MustCompile(`unknown anchor '(.*)' referenced`)
)

// syntaxError turns a yaml.v3 parse error into an Error with the line.
// The parser leaves the line out when it is the first; an unknown alias
// is placed at its first use.
func syntaxError(file string, data []byte, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 1
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	} else if m := unknownAnchor.FindStringSubmatch(msg); m != nil {
		if i := bytes.Index(data, []byte("*"+m[1])); i >= 0 {
			line = 1 + bytes.Count(data[:i], []byte("\n"))
		}
		msg = fmt.Sprintf("alias *%s: no anchor &%s before it", m[1], m[1])
	}
	return &Error{File: file, Line: line, Msg: "YAML: " + msg}
}
