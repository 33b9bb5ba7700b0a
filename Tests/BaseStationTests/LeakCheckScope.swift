/// `launch/test.sh --sanitize address` checks leaks in every executable the tests spawn (the base
/// station, edge nodes, links, floods: where the product's objects live and die) but not in the
/// test runner itself: at its exit XCTest still holds every test case, and values the tests cached
/// sit in Swift enums whose payload pointers carry tag bits LeakSanitizer cannot follow, so its
/// report there is false positives. LeakSanitizer asks this hook at exit; it exists only in the
/// test bundle, so the products keep their leak check.
@_cdecl("__lsan_is_turned_off")
public func leakCheckIsOffInTheTestRunner() -> Int32 { 1 }
