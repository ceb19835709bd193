// Placeholder: benchmarks are added with the notify benchmarks.
return 0;
