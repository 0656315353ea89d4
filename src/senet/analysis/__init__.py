"""The paper's studies: ablations (Tables 10-16), excitation analysis (Sec. 7.2), reports, benchmarks."""
