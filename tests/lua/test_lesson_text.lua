-- test_lesson_text.lua - bilingual strings in a lesson's code blocks ("label" || "라벨",
-- tutorials/lib/lesson.lua's L.code_text): the block is shown and run with the string
-- of the learner's language, and nothing else in the code changes (TAP).
-- run: ./nnlab tests/lua/test_lesson_text.lua
local here = arg and arg[0] and arg[0]:match("^(.*)/[^/]*$") or "tests/lua"
local T = dofile(here .. "/tap.lua")
local L = dofile(here .. "/../../tutorials/lib/lesson.lua")
local lang = L.lang

L.lang = "ko"
T.eq(L.code_text('print("step" || "스텝", i)'), 'print("스텝", i)', "Korean: the second string")
L.lang = "en"
T.eq(L.code_text('print("step" || "스텝", i)'), 'print("step", i)', "English: the first string")
T.eq(L.code_text('print(string.format("loss %.3f"\n      || "손실 %.3f", x))'),
     'print(string.format("loss %.3f", x))', "a pair split over two lines becomes one string")
L.lang = "ko"
T.eq(L.code_text('print("a" || "가" .. x .. "b" || "나")'), 'print("가" .. x .. "나")',
     "two pairs on one line")
T.eq(L.code_text('x = 1 -- one || 하나'), 'x = 1 -- one || 하나',
     "a bilingual comment is left to comment_text")
T.eq(L.comment_text(L.code_text('print("n" || "개수") -- count || 센다')), 'print("개수") -- 센다',
     "a string pair and a comment pair on the same line")
T.eq(L.code_text('if a or b then print("x") end'), 'if a or b then print("x") end',
     "code without pairs is untouched")
-- the chosen code runs
local fn = load(L.code_text('return "yes" || "예"'))
T.eq(fn(), "예", "the transformed block compiles and returns the Korean string")
L.lang = lang
T.done_testing()
