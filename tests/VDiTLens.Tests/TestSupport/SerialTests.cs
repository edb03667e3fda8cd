// Test classes run one after another: libtorch has one process-wide random generator, and tests that seed it and
// draw from it (random weights, random inputs) must not interleave their draws with another test's.
[assembly: Xunit.CollectionBehavior(DisableTestParallelization = true)]
