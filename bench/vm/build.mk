# build.mk - the benchmark's real parallel build (bench/vm/suite.sh runs it
# with make -j in the build disk's chroot): every C file of the Lua 5.4
# interpreter compiled from SRC, the library archived, lua and luac linked.
# Objects go to the current directory (a tmpfs); `make clean` resets it.
SRC ?= /src/lua/src
CFLAGS ?= -O1
override CFLAGS += -std=gnu99 -DLUA_COMPAT_5_3 -DLUA_USE_LINUX
vpath %.c $(SRC)
CORE := $(filter-out lua.o luac.o,$(notdir $(patsubst %.c,%.o,$(wildcard $(SRC)/*.c))))

all: lua luac
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
.PHONY: all clean
