package vsets

import (
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
)

// vadd implements
//
//	VADD key [REDUCE dim] (FP32 vector | VALUES num vector...) element
//	     [CAS] [NOQUANT | Q8 | BIN] [EF build-exploration-factor]
//	     [SETATTR attributes] [M numlinks]
//
// It replies true when the element is new, false when it existed (its
// vector, and with SETATTR its attribute, are then updated). CAS is
// accepted and ignored, as Redis ignores it for replicated and MULTI
// commands: in Cairn every write is applied from the log. A new set takes
// its graph seed from the entry.
func vadd(c *command.Ctx, args [][]byte) (reply.Value, error) {
	vec, reduce, used, ok := parseVector(args, 2, true)
	if !ok {
		return reply.Value{}, errVectorSpec
	}
	if len(args)-2-used < 1 {
		return reply.Value{}, command.ArityError("vadd")
	}
	name := string(args[2+used])
	quant := keyspace.QuantQ8
	ef, m := int64(defaultBuildEF), int64(defaultM)
	var attr *string
	for j := 3 + used; j < len(args); j++ {
		a := args[j]
		more := j+1 < len(args)
		switch {
		case command.EqualFold(a, "cas"):
		case command.EqualFold(a, "ef") && more:
			n, err := command.ParseInt(args[j+1])
			if err != nil || n <= 0 || n > maxEF {
				return reply.Value{}, errInvalidEF
			}
			ef = n
			j++
		case command.EqualFold(a, "m") && more:
			n, err := command.ParseInt(args[j+1])
			if err != nil || n < 4 || n > keyspace.VSetMaxM {
				return reply.Value{}, errInvalidM
			}
			m = n
			j++
		case command.EqualFold(a, "setattr") && more:
			s := string(args[j+1])
			attr = &s
			j++
		case command.EqualFold(a, "noquant"):
			quant = keyspace.QuantNone
		case command.EqualFold(a, "bin"):
			quant = keyspace.QuantBin
		case command.EqualFold(a, "q8"):
			quant = keyspace.QuantQ8
		default:
			return reply.Value{}, errVaddOption
		}
	}
	it, s, err := lookupWrite(c, args[1])
	if err != nil {
		return reply.Value{}, err
	}
	dim := len(vec)
	if s == nil {
		stored, projIn := dim, 0
		if reduce > 0 {
			stored, projIn = reduce, dim
		}
		s, err = keyspace.NewVectorSet(stored, projIn, quant, int(m), c.Seed, c.Seed&(1<<48-1))
		if err != nil {
			return reply.Value{}, errVectorSpec
		}
		u, norm := s.Prepare(s.Project(vec))
		if _, err := s.Add(name, u, norm, nonEmpty(attr), int(ef)); err != nil {
			return reply.Value{}, err
		}
		c.DB.Put(args[1], nil, s, 0)
		c.Dirty++
		return reply.Bool(true), nil
	}
	switch {
	case s.Quant() != quant:
		return reply.Value{}, errQuantDiffer
	case s.M() != int(m):
		return reply.Value{}, errMDiffer
	case (s.ProjectionInput() == 0 && s.Dim() != dim) || (s.ProjectionInput() > 0 && s.Dim() != reduce):
		return reply.Value{}, dimMismatch(dim, s.Dim())
	case reduce > 0 && s.ProjectionInput() == 0:
		return reply.Value{}, errAddProj
	case reduce > 0 && reduce != s.Dim():
		return reply.Value{}, errProjDim
	case s.ProjectionInput() > 0 && dim != s.ProjectionInput():
		return reply.Value{}, projMismatch(dim, s.ProjectionInput())
	}
	s = c.DB.Mutable(it).Obj.(*keyspace.VectorSet)
	u, norm := s.Prepare(s.Project(vec))
	added, err := s.Add(name, u, norm, attr, int(ef))
	if err != nil {
		return reply.Value{}, err
	}
	c.Dirty++
	return reply.Bool(added), nil
}

// nonEmpty drops an empty attribute (a new element then has none).
func nonEmpty(attr *string) *string {
	if attr != nil && *attr == "" {
		return nil
	}
	return attr
}

// vrem implements VREM key element. It replies whether the element was
// removed; a set left empty is deleted.
func vrem(c *command.Ctx, args [][]byte) (reply.Value, error) {
	it, s, err := lookupWrite(c, args[1])
	if err != nil || s == nil {
		return reply.Bool(false), err
	}
	name := string(args[2])
	if _, ok := s.Elem(name); !ok {
		return reply.Bool(false), nil
	}
	s = c.DB.Mutable(it).Obj.(*keyspace.VectorSet)
	s.Remove(name)
	if s.Len() == 0 {
		c.DB.Delete(args[1])
	}
	c.Dirty++
	return reply.Bool(true), nil
}

// vsetattr implements VSETATTR key element json. An empty string removes
// the attribute. It replies false when there is no such key or element.
// Like Redis, it stores the text as given; an attribute that is not a JSON
// object simply never matches a FILTER.
func vsetattr(c *command.Ctx, args [][]byte) (reply.Value, error) {
	it, s, err := lookupWrite(c, args[1])
	if err != nil || s == nil {
		return reply.Bool(false), err
	}
	name := string(args[2])
	if _, ok := s.Elem(name); !ok {
		return reply.Bool(false), nil
	}
	s = c.DB.Mutable(it).Obj.(*keyspace.VectorSet)
	s.SetAttr(name, string(args[3]))
	c.Dirty++
	return reply.Bool(true), nil
}
