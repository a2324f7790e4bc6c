"""The engine: how claimed runs are executed.

``plainrun.engine.executor`` holds the pool of executor processes that run process code apart from
the worker, so that a hang, a crash or a memory blow-up in that code cannot take the worker down.
Nothing is imported here; import the submodules you need.
"""
