package server_test

import "regexp"

func regexpMust(p string) *regexp.Regexp { return regexp.MustCompile(p) }
