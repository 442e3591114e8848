"""What the notebooks share: the setup cell, every plot, the interactive explorer.

    notebook  setup(), fast/full mode, where notebook runs live, which generator to show
    compare   a network written in a notebook checked against the library's, layer by layer
    plots     every figure of the course (each function takes ax= or fig=, returns the figure)
    widgets   the generator explorer (ipywidgets, with a static fallback)
"""
