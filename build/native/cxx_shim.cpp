// Provides std::ios_base_library_init(), which GCC 13's libstdc++ (GLIBCXX_3.4.32) exports and
// libLibTorchSharp.so references. Older libstdc++ initialises iostreams through ios_base::Init instead.
#include <ios>

namespace std {
void ios_base_library_init() { static ios_base::Init init; }
}
