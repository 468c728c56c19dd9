import CashetMacros

// A separately built target with the same function text as the tests' CachedFixtures.swift:
// prints its @Cached identity so the tests can compare across builds and processes.

/// The same text is in CachedFixtures.swift.
@Cached
func sharedIdentityProbe(_ x: Int) -> Int { x * 3 + 1 }

print($sharedIdentityProbe.identity.hash.hex)
