"""The contracts every part of cxml reads and writes, each said once (the bottom layer).

* :mod:`cxml.contracts.fields`: the fields of a comment and of a ticket;
* :mod:`cxml.contracts.labels`: the sentiment and polarity vocabularies, theme-list parsing;
* :mod:`cxml.contracts.ratings`: a ticket's rating (1-5 or good / bad) and which are bad;
* :mod:`cxml.contracts.times`: the one rule for reading a timestamp;
* :mod:`cxml.contracts.tickets`: the ticket model's input frame;
* :mod:`cxml.contracts.outputs`: each task's output columns and their types;
* :mod:`cxml.contracts.predictions`: the prediction log's rows (derived from the outputs).

Batch scoring, the HTTP service, Spark, the pyfunc, training and the report derive from these
modules. They import nothing of cxml but :mod:`cxml.errors`.
"""
