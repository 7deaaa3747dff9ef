// Command kindconst prints one Go string constant of kind's node-image
// builder (sigs.k8s.io/kind/pkg/build/nodeimage in the module cache): the
// default CNI and storage manifests and the image names they use. The lane
// writes those into the node image at build time, so nothing of kind's
// source is copied into this repository.
//
//	go run main.go DIR NAME
//
// Only DIR's const*.go files are type-checked (they import nothing).
package main

import (
	"fmt"
	"go/ast"
	"go/constant"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: kindconst DIR NAME")
		os.Exit(2)
	}
	dir, name := os.Args[1], os.Args[2]
	paths, err := filepath.Glob(filepath.Join(dir, "const*.go"))
	if err != nil || len(paths) == 0 {
		fmt.Fprintf(os.Stderr, "kindconst: no const*.go in %s\n", dir)
		os.Exit(1)
	}
	fset := token.NewFileSet()
	var files []*ast.File
	for _, p := range paths {
		f, err := parser.ParseFile(fset, p, nil, 0)
		if err != nil {
			fmt.Fprintln(os.Stderr, "kindconst:", err)
			os.Exit(1)
		}
		files = append(files, f)
	}
	conf := types.Config{Importer: importer.Default()}
	pkg, err := conf.Check("nodeimage", fset, files, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kindconst:", err)
		os.Exit(1)
	}
	c, ok := pkg.Scope().Lookup(name).(*types.Const)
	if !ok || c.Val().Kind() != constant.String {
		fmt.Fprintf(os.Stderr, "kindconst: no string constant %s in %s\n", name, dir)
		os.Exit(1)
	}
	fmt.Print(constant.StringVal(c.Val()))
}
