"""The jobs benchmark: data generation, the two baselines each job is measured against, and the
runner behind ``manage.py generate_bench_data`` and ``manage.py bench``. PostgreSQL only."""
