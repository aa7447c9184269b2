"""Graph analyses: topology for drawing, impact, dependencies, paths, single points of failure."""
