package kernel

import "strconv"

// Errno is an error as the kernel returns it: a negative errno, as in a
// route's dst.error or a netlink ACK (-101 is -ENETUNREACH). 0 is no
// error.
type Errno int

// Errnos raceroute meets in route lookups and netlink replies.
const (
	EPERM        Errno = -1
	ENOENT       Errno = -2
	ESRCH        Errno = -3
	EAGAIN       Errno = -11
	ENOMEM       Errno = -12
	EACCES       Errno = -13
	EBUSY        Errno = -16
	EEXIST       Errno = -17
	ENODEV       Errno = -19
	EINVAL       Errno = -22
	ERANGE       Errno = -34
	EOPNOTSUPP   Errno = -95
	ENETDOWN     Errno = -100
	ENETUNREACH  Errno = -101
	ENOBUFS      Errno = -105
	EHOSTUNREACH Errno = -113
)

var errnos = map[Errno]struct{ name, text string }{
	EPERM:        {"EPERM", "Operation not permitted"},
	ENOENT:       {"ENOENT", "No such file or directory"},
	ESRCH:        {"ESRCH", "No such process"},
	EAGAIN:       {"EAGAIN", "Resource temporarily unavailable"},
	ENOMEM:       {"ENOMEM", "Cannot allocate memory"},
	EACCES:       {"EACCES", "Permission denied"},
	EBUSY:        {"EBUSY", "Device or resource busy"},
	EEXIST:       {"EEXIST", "File exists"},
	ENODEV:       {"ENODEV", "No such device"},
	EINVAL:       {"EINVAL", "Invalid argument"},
	ERANGE:       {"ERANGE", "Numerical result out of range"},
	EOPNOTSUPP:   {"EOPNOTSUPP", "Operation not supported"},
	ENETDOWN:     {"ENETDOWN", "Network is down"},
	ENETUNREACH:  {"ENETUNREACH", "Network is unreachable"},
	ENOBUFS:      {"ENOBUFS", "No buffer space available"},
	EHOSTUNREACH: {"EHOSTUNREACH", "No route to host"},
}

// Name is the errno's symbol ("ENETUNREACH"), or its number when
// raceroute does not know it.
func (e Errno) Name() string {
	if n, ok := errnos[e]; ok {
		return n.name
	}
	return strconv.Itoa(int(e))
}

// String is the errno as raceroute prints it everywhere: the kernel's
// negative value, its symbol and the C library's text,
// "-101 ENETUNREACH (Network is unreachable)".
func (e Errno) String() string {
	if e == 0 {
		return "0"
	}
	n, ok := errnos[e]
	if !ok {
		return strconv.Itoa(int(e))
	}
	return strconv.Itoa(int(e)) + " " + n.name + " (" + n.text + ")"
}
