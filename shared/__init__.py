"""What the server and its clients both speak: protocol messages and the decision schema.

Everything here is a pydantic model, validated at the edge where bytes become objects.
"""
