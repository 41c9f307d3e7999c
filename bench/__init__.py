"""Yunshu's benchmark suite (`yunshu bench`). Each benchmark measures our code and its
baselines in the same run, on the same data and database."""
