from django.apps import AppConfig


class BenchConfig(AppConfig):
    """The benchmarks' management commands; installed only by ``bench.settings``."""

    name = "bench"
    verbose_name = "Benchmarks"
