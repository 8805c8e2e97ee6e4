# build.mk - the benchmark's real parallel build (bench/vm/suite.sh runs it
# with make -j in the build disk's chroot): C files of the Lua 5.4
# interpreter compiled from SRC. Objects go to the current directory (a
# tmpfs); `make clean` resets it.
#   all   every file; the library archived, lua and luac linked
#   lib   Lua's standard library (12 files) archived into liblualib.a
#   part  6 of those files archived into liblua-part.a: the suite's
#         default, sized so that one build lasts ~10-15 s under TCG
SRC ?= /src/lua/src
CFLAGS ?= -O0
override CFLAGS += -std=gnu99 -DLUA_COMPAT_5_3 -DLUA_USE_LINUX
vpath %.c $(SRC)
LIB := lauxlib.o lbaselib.o lcorolib.o ldblib.o liolib.o lmathlib.o loadlib.o loslib.o lstrlib.o ltablib.o \
	lutf8lib.o linit.o
PART := lauxlib.o lbaselib.o liolib.o lmathlib.o lstrlib.o ltablib.o
CORE := $(filter-out lua.o luac.o,$(notdir $(patsubst %.c,%.o,$(wildcard $(SRC)/*.c))))

all: lua luac
lib: liblualib.a
part: liblua-part.a
liblua-part.a: $(PART)
	$(AR) rcs $@ $^
liblualib.a: $(LIB)
	$(AR) rcs $@ $^
liblua.a: $(CORE)
	$(AR) rcs $@ $^
lua: lua.o liblua.a
	$(CC) -o $@ $^ -lm -ldl
luac: luac.o liblua.a
	$(CC) -o $@ $^ -lm -ldl
# Debian's luaconf.h includes this header, which its packaging generates.
lua5.4-deb-multiarch.h:
	echo '#define DEB_HOST_MULTIARCH "x86_64-linux-gnu"' >$@
%.o: %.c lua5.4-deb-multiarch.h
	$(CC) $(CFLAGS) -I. -I$(SRC) -c -o $@ $<
clean:
	rm -f *.o *.a lua luac lua5.4-deb-multiarch.h
.PHONY: all lib part clean
