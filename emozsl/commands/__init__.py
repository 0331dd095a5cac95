"""The commands' orchestration, one module per command group (`emozsl train` with quickstart and
crossval, `eval`, `predict`, `report`, `sweep`, `split`, `data`, `features`, `embeddings`, `bench`):
each takes the command's arguments and its settings object (emozsl.config), runs the library
(training, scoring, reading runs, data and word vectors) and returns what the command prints,
rendered by emozsl.reports and emozsl.plots where it is a table. Imports nothing itself, so
`emozsl report` loads no training stack."""
