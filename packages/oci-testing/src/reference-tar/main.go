// Command reference-tar reads layers as Go's standard library does, for volpop's differential
// fuzzer (src/layers/differential.test.ts): compress/gzip in its default multistream mode, then
// archive/tar, as containerd and Docker read a layer. It is built at test time with `go build`
// and uses nothing but the standard library.
//
// It serves requests on stdin until stdin closes. A request is one byte naming the compression
// ('g' gzip, 'n' none: the fuzzer decompresses zstd with the zstd tool first), a big-endian
// uint64 length, and the layer's bytes. The answer is one status byte, a big-endian uint64 length
// and a payload:
//
//	'A' accepted: the entries as Go read them, written again as a plain archive (see canonical),
//	    keeping what decides the tree a layer makes: name, type, link target, data and permission
//	    bits; global PAX headers, which change nothing, are left out;
//	'R' refused: the error Go's reader gave, as text.
//
// Like containerd, the whole decompressed stream is read, past the end of the archive, so that
// gzip errors after the last entry (trailing garbage, a bad checksum) refuse the layer.
package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"strconv"
)

func main() {
	in := bufio.NewReader(os.Stdin)
	out := bufio.NewWriter(os.Stdout)
	for {
		compression, err := in.ReadByte()
		if err == io.EOF {
			return
		}
		if err != nil {
			fail(err)
		}
		var length uint64
		if err := binary.Read(in, binary.BigEndian, &length); err != nil {
			fail(err)
		}
		layer := make([]byte, length)
		if _, err := io.ReadFull(in, layer); err != nil {
			fail(err)
		}
		status, payload := read(compression, layer)
		if err := out.WriteByte(status); err != nil {
			fail(err)
		}
		if err := binary.Write(out, binary.BigEndian, uint64(len(payload))); err != nil {
			fail(err)
		}
		if _, err := out.Write(payload); err != nil {
			fail(err)
		}
		if err := out.Flush(); err != nil {
			fail(err)
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "reference-tar:", err)
	os.Exit(2)
}

// read returns the status byte and payload for one layer.
func read(compression byte, layer []byte) (byte, []byte) {
	var stream io.Reader = bytes.NewReader(layer)
	switch compression {
	case 'n':
	case 'g':
		gz, err := gzip.NewReader(stream)
		if err != nil {
			return 'R', []byte(err.Error())
		}
		stream = gz
	default:
		return 'R', []byte(fmt.Sprintf("unknown compression %q", compression))
	}
	var out bytes.Buffer
	reader := tar.NewReader(stream)
	for {
		header, err := reader.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return 'R', []byte(err.Error())
		}
		data, err := io.ReadAll(reader)
		if err != nil {
			return 'R', []byte(err.Error())
		}
		if header.Typeflag != tar.TypeXGlobalHeader {
			canonical(&out, header, data)
		}
	}
	// The rest of the stream: a gzip error there refuses the layer, as it does in containerd.
	if _, err := io.Copy(io.Discard, stream); err != nil {
		return 'R', []byte(err.Error())
	}
	out.Write(make([]byte, 1024))
	return 'A', out.Bytes()
}

// canonical writes one entry as the plainest archive can hold it: a PAX header with its name and
// link target (so that any bytes, any length, any trailing slash pass as they are, which
// archive/tar's Writer would refuse), then a USTAR header with its typeflag, permission bits and
// size, then its data. A sparse file is written as the regular file Go hands over.
func canonical(out *bytes.Buffer, header *tar.Header, data []byte) {
	var records bytes.Buffer
	paxRecord(&records, "path", header.Name)
	if header.Linkname != "" {
		paxRecord(&records, "linkpath", header.Linkname)
	}
	block(out, tar.TypeXHeader, 0, records.Bytes())
	typeflag := header.Typeflag
	if typeflag == tar.TypeGNUSparse {
		typeflag = tar.TypeReg
	}
	block(out, typeflag, header.Mode&0o7777, data)
}

// block writes a USTAR header named "canonical" (a PAX path replaces it), then data and padding.
func block(out *bytes.Buffer, typeflag byte, mode int64, data []byte) {
	var h [512]byte
	copy(h[0:], "canonical")
	copy(h[100:], fmt.Sprintf("%07o\x00", mode))
	copy(h[108:], "0000000\x00")
	copy(h[116:], "0000000\x00")
	copy(h[124:], fmt.Sprintf("%011o\x00", len(data)))
	copy(h[136:], "00000000000\x00")
	h[156] = typeflag
	copy(h[257:], "ustar\x0000")
	copy(h[148:], "        ")
	sum := 0
	for _, c := range h {
		sum += int(c)
	}
	copy(h[148:], fmt.Sprintf("%06o\x00 ", sum))
	out.Write(h[:])
	out.Write(data)
	out.Write(make([]byte, (512-len(data)%512)%512))
}

// paxRecord writes "<length> <key>=<value>\n", the length counting itself, as archive/tar does.
func paxRecord(out *bytes.Buffer, key, value string) {
	size := len(key) + len(value) + 3
	size += len(strconv.Itoa(size))
	record := strconv.Itoa(size) + " " + key + "=" + value + "\n"
	if len(record) != size {
		record = strconv.Itoa(len(record)) + " " + key + "=" + value + "\n"
	}
	out.WriteString(record)
}
