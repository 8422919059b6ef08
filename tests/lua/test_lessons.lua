-- test_lessons.lua - the lesson framework (tutorials/lib/lesson.lua): answers are
-- checked as a learner types them, in English or Korean, and every line it prints
-- fits 80 columns (TAP). run: ./nnlab tests/lua/test_lessons.lua
local here = arg and arg[0] and arg[0]:match("^(.*)/[^/]*$") or "tests/lua"
local T = dofile(here .. "/tap.lua")
local L = dofile(here .. "/../../tutorials/lib/lesson.lua")
local same = L.same_answer

-- numbers with the words around them
T.ok(same("63", 63), "63 for 63")
T.ok(same("63 updates", 63), "'63 updates' for 63")
T.ok(same("63번", 63), "'63번' for 63")
T.ok(same("63 개", 63), "'63 개' for 63")
T.ok(not same("64 updates", 63), "'64 updates' is not 63")
T.ok(not same("updates", 63), "a word with no number is not 63")
T.ok(same("33554432", "33,554,432"), "33554432 for 33,554,432")
T.ok(same("33,554,432 weights", "33,554,432"), "'33,554,432 weights' for 33,554,432")
T.ok(same("1.6 GB", "1.6"), "'1.6 GB' for 1.6")
T.ok(same("1.64", "1.6"), "1.64 rounds to 1.6")
T.ok(not same("1.7", "1.6"), "1.7 is not 1.6")
T.ok(same("80.6GB", "80.6"), "'80.6GB' for 80.6")
T.ok(same("0.6", 0.6), "0.6 for 0.6")
-- shapes and lists
T.ok(same("3,2", "[3,2]"), "'3,2' for [3,2]")
T.ok(same("[3, 2]", "[3,2]"), "'[3, 2]' for [3,2]")
T.ok(not same("[2,3]", "[3,2]"), "[2,3] is not [3,2]")
T.ok(same("2,197,768", "[2,197,768]"), "'2,197,768' for [2,197,768]")
T.ok(same("9834496, 256", "9834496 and 256"), "'9834496, 256' for '9834496 and 256'")
T.ok(same("9,834,496 그리고 256", "9834496 and 256"), "Korean words between the numbers")
T.ok(not same("256", "9834496 and 256"), "one of two numbers is not enough")
-- yes / no in both languages
for _, y in ipairs{"yes", "Yes", "y", "예", "네", "응"} do T.ok(same(y, "yes"), y .. " for yes") end
for _, n in ipairs{"no", "N", "아니오", "아니요", "아뇨"} do T.ok(same(n, "no"), n .. " for no") end
T.ok(not same("예", "no"), "예 is not no")
T.ok(not same("no", "yes"), "no is not yes")
-- bilingual answers and the lesson's own acceptor
T.ok(same("교차 엔트로피, 약 550배", {en = "cross-entropy, about 550x", ko = "교차 엔트로피, 약 550배"}),
     "the Korean version of a bilingual answer")
T.ok(same("CE", 1, function(g) return g:lower() == "ce" end), "accept() widens what is right")
T.ok(not same("", 63), "an empty answer is not an answer")

-- bilingual comments in shown code
L.lang = "ko"
T.eq(L.comment_text("x = 1   -- one || 하나"), "x = 1   -- 하나", "a comment's Korean half")
L.lang = "en"
T.eq(L.comment_text("x = 1   -- one || 하나"), "x = 1   -- one", "a comment's English half")
T.eq(L.comment_text("x = 1   -- one"), "x = 1   -- one", "a plain comment stays")
T.done_testing()
