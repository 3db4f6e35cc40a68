-- mig:revision 1f0e2d3c4b5a
-- mig:down_revision a, b c
return { upgrade = function(db, ctx) end }
