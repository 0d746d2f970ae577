"""gpuresample's benchmarks: ``python -m benchmarks`` (the comparison runner, implemented in
:mod:`gpuresample.bench`) and the pytest-benchmark suite (``pytest benchmarks/``)."""
